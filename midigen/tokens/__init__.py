"""Pieces as token ids and back: the one vocabulary table, the one grammar table, the tokenizer, augmentation."""
