WORDSTAT_LOCALE=en python3 scripts/build_table.py
