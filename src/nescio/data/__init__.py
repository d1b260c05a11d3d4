"""nescio.data"""
