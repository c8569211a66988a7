"""What lkvault knows of a LinkedIn export: parsing, summaries, differences and contacts."""
