// The same image as app.json, in HCL2.
variable "config_checksum" {
  type = string
}

variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "aws_subnet_id" {
  type    = string
  default = ""
}

variable "aws_ec2_endpoint" {
  type    = string
  default = ""
}

source "amazon-ebs" "app" {
  region                     = var.aws_region
  subnet_id                  = var.aws_subnet_id
  custom_endpoint_ec2        = var.aws_ec2_endpoint
  skip_credential_validation = true
  skip_region_validation     = true
  source_ami_filter {
    filters = {
      name = "debian-12-amd64-*"
    }
    owners      = ["amazon"]
    most_recent = true
  }
  instance_type  = "t3.micro"
  communicator   = "none"
  user_data_file = "../scripts/install.sh"
  ami_name       = "example-app-hcl-${var.config_checksum}"
  tags = {
    Name                = "example-app"
    ami_config_checksum = var.config_checksum
  }
}

build {
  sources = ["source.amazon-ebs.app"]
}
