# Way 3: look the AMI up by its fingerprint tag. owners is never left out:
# without it any account could publish an AMI with the same tag.
data "aws_ami" "baked" {
  count       = var.ami_fingerprint == null ? 0 : 1
  owners      = var.ami_owners
  most_recent = true

  filter {
    name   = "tag:${var.ami_tag_key}"
    values = [var.ami_fingerprint]
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

locals {
  # The first of: -var ami_id, ami.auto.tfvars.json, the lookup.
  ami_id = try(coalesce(
    var.ami_id,
    lookup(var.ami_ids, var.region, null),
    one(data.aws_ami.baked[*].id),
  ), null)
}

resource "aws_launch_template" "app" {
  name_prefix   = "app-"
  image_id      = local.ami_id
  instance_type = var.instance_type

  tag_specifications {
    resource_type = "instance"
    tags = {
      Name = "app"
    }
  }

  lifecycle {
    precondition {
      condition     = local.ami_id != null
      error_message = "No AMI: pass -var ami_id=..., write ami.auto.tfvars.json with ami-bakery bake --tfvars-file, or set ami_fingerprint."
    }
  }
}
