"""The process: start-up, listening sockets, uvicorn servers, signals, workers and shutdown."""
