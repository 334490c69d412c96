{
  "targets": [
    {
      "target_name": "peercred",
      "sources": ["peercred.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "sockmark",
      "sources": ["sockmark.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "procevents",
      "sources": ["procevents.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
