# The AMI reaches Terraform one of three ways (README.md); set one of them.

# 1. On the command line:
#      terraform apply -var "ami_id=$(ami-bakery bake -t ami/packer/ami.json)"
variable "ami_id" {
  description = "AMI id in var.region, as printed by ami-bakery bake"
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "The ami_id must look like ami-0123456789abcdef0."
  }
}

# 2. From the file that `ami-bakery bake --tfvars-file ami.auto.tfvars.json`
#    writes; Terraform loads *.auto.tfvars.json by itself. It holds ami_id
#    (the primary region's) and ami_ids (every region's).
variable "ami_ids" {
  description = "Region => AMI id, for every region ami-bakery baked or copied to"
  type        = map(string)
  default     = {}
}

# 3. By lookup: the fingerprint (`ami-bakery checksum`, no AWS needed) and
#    the AMI tagged with it, among trusted owners only.
variable "ami_fingerprint" {
  description = "Fingerprint of the AMI definition: the value of its ami_tag_key tag"
  type        = string
  default     = null
}

variable "ami_tag_key" {
  description = "AMI tag that carries the fingerprint (ami-bakery --tag-key)"
  type        = string
  default     = "ami_config_checksum"
}

variable "ami_owners" {
  description = "Accounts trusted to own the AMI: an AMI found by tag alone could be anyone's"
  type        = list(string)
  default     = ["self"]

  validation {
    condition     = length(var.ami_owners) > 0
    error_message = "List at least one trusted owner: an AMI found by tag alone could be anyone's."
  }
}

variable "region" {
  description = "Region to deploy in: ami-bakery's primary region"
  type        = string
  default     = "us-east-1"
}

variable "instance_type" {
  description = "Instance type of the launch template"
  type        = string
  default     = "t3.micro"
}
