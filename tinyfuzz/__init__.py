"""tinyfuzz: grammar-driven differential fuzzing and dataset generation for Python implementations."""
