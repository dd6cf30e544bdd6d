python3 -m pip install --user --no-index --no-build-isolation -e .
