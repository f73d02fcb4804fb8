print("dive")
