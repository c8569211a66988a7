"""The lkvault command line: parses arguments, calls the vault library, prints results."""
