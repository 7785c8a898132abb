"""What a musician asks for: compose, continue, infill and harmonize, on one sampling skeleton."""
