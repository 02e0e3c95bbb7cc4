{
  "targets": [
    {
      "target_name": "hearth",
      "sources": ["src/addon.cc"],
      "include_dirs": ["../capi"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall"],
      "libraries": ["-L<(module_root_dir)/../build", "-lhearth"],
      "ldflags": ["-Wl,-rpath,'$$ORIGIN/../../../build'"]
    }
  ]
}
