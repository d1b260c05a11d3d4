"""nescio.signals"""
