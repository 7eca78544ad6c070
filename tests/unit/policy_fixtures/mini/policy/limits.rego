package iesfix.mini

# METADATA
# title: Minimum quantity
# description: A trade must be for at least the minimum quantity.
# related_resources:
#   - ref: intent.md#min-quantity
violations contains v if {
	input.message.quantity < data.limits.min_kwh
	v := {
		"rule": "min-quantity",
		"title": "Minimum quantity",
		"message": sprintf("quantity %v kWh is below the minimum %v kWh", [input.message.quantity, data.limits.min_kwh]),
		"intent": "intent.md#min-quantity",
	}
}
