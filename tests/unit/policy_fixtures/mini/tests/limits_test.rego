package iesfix.mini_test

import data.iesfix.mini

test_small_quantity_denied if {
	count(mini.violations) == 1 with input.message.quantity as 0.5
}

test_enough_quantity_allowed if {
	count(mini.violations) == 0 with input.message.quantity as 5
}
