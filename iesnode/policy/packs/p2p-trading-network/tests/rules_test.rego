# One passing and at least one violating case per rule of the P2P trading network pack;
# the valid init and the helpers live in fixtures_test.rego.
package ies.p2p.network_test

import rego.v1

test_protocol_version_accepts_2_0_x if {
	not "protocol-version" in fired_context([{"op": "replace", "path": "/version", "value": "2.0.3"}])
}

test_protocol_version_rejects_1_1 if {
	fired_context([{"op": "replace", "path": "/version", "value": "1.1.0"}]) == {"protocol-version"}
}

test_required_roles_pass_with_discom_roles if {
	patches := [
		{"op": "add", "path": "/contract/contractAttributes/roles/-", "value": {"role": "buyerDiscom", "participantId": "TEST_DISCOM_BUYER"}},
		{"op": "add", "path": "/contract/contractAttributes/roles/-", "value": {"role": "sellerDiscom", "participantId": "TEST_DISCOM_SELLER"}},
	]
	count(fired(patches)) == 0
}

test_required_roles_reject_missing_seller if {
	fired([{"op": "remove", "path": "/contract/contractAttributes/roles/1"}]) == {"required-roles"}
}

test_required_roles_reject_unknown_role if {
	patch := {"op": "add", "path": "/contract/contractAttributes/roles/-", "value": {"role": "aggregator", "participantId": "buyer-app.example.com"}}
	fired([patch]) == {"required-roles"}
}

test_required_roles_reject_buyer_without_meter if {
	patches := [{"op": "remove", "path": "/contract/participants/0/participantAttributes/meterId"}]
	fired(patches) == {"required-roles"}
}

test_units_accept_lowercase_kwh if {
	count(fired([{"op": "replace", "path": "/contract/commitments/0/resources/0/quantity/unitCode", "value": "kWh"}])) == 0
}

test_units_reject_usd if {
	fired([{"op": "replace", "path": "/contract/consideration/0/price/currency", "value": "USD"}]) == {"units"}
}

test_units_reject_kw if {
	fired([{"op": "replace", "path": "/contract/commitments/0/resources/0/quantity/unitCode", "value": "KW"}]) == {"units"}
}

test_units_reject_descriptor_without_units if {
	patches := [{"op": "remove", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/2/units"}]
	fired(patches) == {"units"}
}

test_no_self_trade_passes_distinct_meters if {
	not "no-self-trade" in fired([])
}

test_no_self_trade_rejects_same_meter if {
	fired([{"op": "replace", "path": "/contract/participants/0/participantAttributes/meterId", "value": "TEST_METER_SELLER_001"}]) == {"no-self-trade"}
}

test_no_grid_source_accepts_battery if {
	count(fired([{"op": "replace", "path": "/contract/commitments/0/resources/0/resourceAttributes/sourceType", "value": "BATTERY"}])) == 0
}

test_no_grid_source_rejects_grid_any_case if {
	fired([{"op": "replace", "path": "/contract/commitments/0/resources/0/resourceAttributes/sourceType", "value": "grid"}]) == {"no-grid-source"}
}

test_bap_bpp_participants_pass if {
	not "bap-bpp-participants" in fired_context([])
}

test_bap_bpp_participants_reject_foreign_bpp if {
	fired_context([{"op": "replace", "path": "/bpp_id", "value": "other-seller-app.example.com"}]) == {"bap-bpp-participants"}
}

test_bap_bpp_participants_reject_missing_bpp if {
	fired_context([{"op": "remove", "path": "/bpp_id"}]) == {"bap-bpp-participants"}
}

test_payload_types_pass_declared_allocation_columns if {
	patches := [
		{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/-", "value": {"payloadType": "BUYER_DISCOM_STATUS", "units": "KWH"}},
		{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "BUYER_DISCOM_STATUS", "values": [1]}},
	]
	count(fired(patches)) == 0
}

test_payload_types_reject_undeclared_payload if {
	patch := {"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "CARBON_INTENSITY", "values": [0.1]}}
	fired([patch]) == {"payload-types-declared"}
}

test_payload_types_reject_unknown_declared_type if {
	patches := [
		{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/-", "value": {"payloadType": "CARBON_INTENSITY"}},
		{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "CARBON_INTENSITY", "values": [0.1]}},
	]
	fired(patches) == {"payload-types-declared"}
}

test_payload_types_reject_wrong_type if {
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/@type", "value": "Schedule"}]) == {"payload-types-declared"}
}

test_payload_types_reject_missing_resource_attributes if {
	patches := [{"op": "remove", "path": "/contract/commitments/0/resources/0/resourceAttributes"}]
	fired(patches) == {"payload-types-declared"}
}

test_payload_types_reject_offer_attributes if {
	patch := {"op": "add", "path": "/contract/commitments/0/offer/offerAttributes", "value": {"@type": "EnergyTradeOffer"}}
	fired([patch]) == {"payload-types-declared"}
}

test_separation_passes_test_ids_on_test_network if {
	not "test-production-separation" in fired_context([])
}

test_separation_rejects_test_ids_on_production if {
	fired_context([{"op": "replace", "path": "/network_id", "value": "indiaenergystack.in/ies-p2p-trading-network"}]) == {"test-production-separation"}
}

test_separation_rejects_real_meter_on_test_network if {
	fired([{"op": "replace", "path": "/contract/participants/0/participantAttributes/meterId", "value": "der://meter/98765456"}]) == {"test-production-separation"}
}

test_separation_classifies_identifiers if {
	network.is_test_identifier("der://meter/TEST_7")
	network.is_test_identifier("bap.test")
	network.is_test_identifier("test-meter-1")
	not network.is_test_identifier("der://meter/98765456")
	not network.is_test_identifier("contest_meter")
}

test_gate_closure_accepts_exactly_four_hours if {
	count(fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/start", "value": "2026-04-24T07:06:40Z"}])) == 0
}

test_gate_closure_rejects_one_second_late if {
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/start", "value": "2026-04-24T07:06:39Z"}]) == {"gate-closure"}
}

test_gate_closure_rejects_unreadable_start if {
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/start", "value": "tomorrow 9am"}]) == {"gate-closure"}
}

test_gate_closure_ignores_status_updates if {
	msg := json.patch(message, [{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/start", "value": "2026-04-24T04:00:00Z"}])
	count(violations_of("on_status", context, msg)) == 0
}

test_gate_closure_names_the_lead_time if {
	texts := messages([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/start", "value": "2026-04-24T05:06:40+00:00"}])
	some text in texts
	contains(text, "2 h from now")
}

test_per_hour_cap_accepts_load_equal_to_rate if {
	count(fired([{"op": "replace", "path": "/contract/participants/0/participantAttributes/sanctionedLoadKw", "value": 3}])) == 0
}

test_per_hour_cap_rejects_above_sanctioned_load if {
	fired([{"op": "replace", "path": "/contract/participants/0/participantAttributes/sanctionedLoadKw", "value": 2.5}]) == {"per-hour-cap"}
}

test_per_hour_cap_rejects_above_installed_capacity if {
	fired([{"op": "replace", "path": "/contract/participants/1/participantAttributes/installedCapacityKw", "value": 3.5}]) == {"per-hour-cap"}
}

test_per_hour_cap_scales_short_intervals if {
	# 3 kWh in 15 minutes is 12 kWh per hour, above both 5 kW limits
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/duration", "value": "PT15M"}]) == {"per-hour-cap"}
}

test_per_hour_cap_rejects_unknown_duration if {
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervalPeriod/duration", "value": "PT2H"}]) == {"per-hour-cap"}
}

test_per_hour_cap_rejects_missing_capacity if {
	patches := [{"op": "remove", "path": "/contract/participants/1/participantAttributes/installedCapacityKw"}]
	fired(patches) == {"per-hour-cap"}
}

test_minimum_quantity_accepts_one_kwh if {
	count(fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/2/values", "value": [1]}])) == 0
}

test_minimum_quantity_rejects_half_kwh if {
	fired([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/2/values", "value": [0.5]}]) == {"minimum-quantity"}
}

test_minimum_quantity_rejects_small_resource if {
	fired([{"op": "replace", "path": "/contract/commitments/0/resources/0/quantity/unitQuantity", "value": 0.25}]) == {"minimum-quantity"}
}

allocation(buyer, seller, final) := [
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/-", "value": {"payloadType": "BUYER_DISCOM_ALLOC", "units": "KWH"}},
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/-", "value": {"payloadType": "SELLER_DISCOM_ALLOC", "units": "KWH"}},
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/-", "value": {"payloadType": "FINAL_ALLOC", "units": "KWH"}},
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "BUYER_DISCOM_ALLOC", "values": buyer}},
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "SELLER_DISCOM_ALLOC", "values": seller}},
	{"op": "add", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/-", "value": {"type": "FINAL_ALLOC", "values": final}},
]

test_allocation_accepts_min_of_both if {
	count(fired(allocation([3.0], [2.5], [2.5]))) == 0
}

test_allocation_rejects_above_min if {
	fired(allocation([3.0], [2.5], [2.75])) == {"allocation-within-min"}
}

test_allocation_rejects_final_without_discom_allocation if {
	fired(allocation([3.0], [], [2.0])) == {"allocation-within-min"}
}
