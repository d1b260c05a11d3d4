"""nescio.evaluate"""
