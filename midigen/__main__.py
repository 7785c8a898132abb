"""``python -m midigen``; also what ``torchrun -m midigen`` runs."""
from .cli import main

main()
