"""nescio.policy"""
