"""Generation: options in, file contents out (the compose file, devcontainer.json, the
Dockerfiles and the proxy's files), and the one step that writes them into a project."""
