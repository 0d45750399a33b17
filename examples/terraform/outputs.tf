output "ami_id" {
  description = "The AMI the launch template uses"
  value       = local.ami_id
}

output "ami_ids" {
  description = "Every region's AMI, when ami.auto.tfvars.json gave them"
  value       = var.ami_ids
}

output "launch_template_id" {
  description = "The launch template that runs the baked AMI"
  value       = aws_launch_template.app.id
}
