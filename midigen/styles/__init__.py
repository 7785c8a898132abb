"""Style bundles: the files on disk, where they are found, what they say, archives, and the parts a style writes."""
