print("proxym")
