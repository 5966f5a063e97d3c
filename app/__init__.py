"""The Streamlit front end. Installed, this folder is the package ``mnist_explorer`` (see pyproject.toml):
``mnist-explorer`` (launch.py) serves main.py with the settings in .streamlit/config.toml beside it."""
