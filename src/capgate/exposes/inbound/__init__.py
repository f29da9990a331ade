"""What stands between a caller and an adapter: who is calling (inbound tokens), which Host and Origin are
answered, and the guard that checks both and bounds each request before the adapter sees it.
"""
