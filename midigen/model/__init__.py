"""The models over token ids: the Transformer (PyTorch), its numpy decoder for CPU sampling, the n-gram baseline."""
