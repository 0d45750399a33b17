# A project of three images: a hardened base, and two images built from it.
# `ami-bakery bake` in this directory bakes base first, then app and worker
# at once, each from base's AMI (passed in the variable source_ami).
defaults {
  regions = ["us-east-1"]
}

image "base" {
  template = "images/base/base.json"
}

image "app" {
  template = "images/app/app.json"
  parent   = "base"
}

image "worker" {
  template = "images/worker/worker.json"
  parent   = "base"
}
