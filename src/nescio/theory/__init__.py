"""nescio.theory"""
