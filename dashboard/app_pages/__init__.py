"""Page scripts of the multipage app (``st.Page`` files), each a thin call
into ``dashboard.views``.  Not named ``pages/``: Streamlit would treat such a
folder as pages to run directly, around ``app.py`` and its login gate."""
