# A valid P2P init (a one-hour cut of valid_init_input in tests/unit/test_pack_p2p_trading.py)
# and helpers to evaluate the network policy on single mutations of it.
# regopy 1.5.2 aborts when the whole input is replaced, so it is replaced field by field.
package ies.p2p.network_test

import data.ies.p2p.network
import rego.v1

now_ns := 1777000000000000000 # 2026-04-24T03:06:40Z

trial_network := "indiaenergystack.in/test-ies-p2p-trading-network"

context := {
	"action": "init",
	"version": "2.0.0",
	"network_id": trial_network,
	"bap_id": "buyer-app.example.com",
	"bap_uri": "https://buyer-app.example.com/bap/receiver",
	"bpp_id": "seller-app.example.com",
	"bpp_uri": "https://seller-app.example.com/bpp/receiver",
	"transaction_id": "6f1c2a9e-3b1d-4c55-9a51-1d2e8f0c7b11",
	"message_id": "0b8e9d4a-57a2-4f0f-8c3e-2d6a1b9c4e21",
	"timestamp": "2026-04-24T03:06:40Z",
	"ttl": "PT30S",
}

series := {
	"@type": "TimeSeries",
	"intervalPeriod": {"start": "2026-04-24T09:00:00Z", "duration": "PT1H"},
	"payloadDescriptors": [
		{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE_PER_KWH", "currency": "INR"},
		{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "AVAILABLE_QTY", "units": "KWH"},
		{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "REQUESTED_QTY", "units": "KWH"},
	],
	"intervals": [
		{"id": 0, "payloads": [
			{"type": "PRICE_PER_KWH", "values": [6.5]},
			{"type": "AVAILABLE_QTY", "values": [4.0]},
			{"type": "REQUESTED_QTY", "values": [3.0]},
		]},
	],
}

message := {"contract": {
	"status": {"code": "DRAFT"},
	"commitments": [{
		"id": "commitment-p2p-001",
		"resources": [{
			"id": "energy-resource-solar-001",
			"quantity": {"unitCode": "KWH", "unitQuantity": 3.0},
			"resourceAttributes": {"@type": "EnergyResource", "sourceType": "SOLAR", "meterId": "TEST_METER_SELLER_001"},
		}],
		"offer": {"id": "offer-p2p-001", "resourceIds": ["energy-resource-solar-001"]},
		"commitmentAttributes": series,
	}],
	"consideration": [{
		"id": "consideration-p2p-001",
		"price": {"currency": "INR", "value": 19.5},
		"considerationAttributes": {"@type": "PriceSpecification", "currency": "INR", "totalValue": 19.5},
	}],
	"participants": [
		{"id": "buyer-app.example.com", "participantAttributes": {
			"@type": "EnergyCustomer", "meterId": "TEST_METER_BUYER_001",
			"utilityCustomerId": "TEST_CUST_BUYER_001", "sanctionedLoadKw": 5.0,
		}},
		{"id": "seller-app.example.com", "participantAttributes": {
			"@type": "EnergyCustomer", "meterId": "TEST_METER_SELLER_001",
			"utilityCustomerId": "TEST_CUST_SELLER_001", "installedCapacityKw": 5.0,
		}},
	],
	"contractAttributes": {"@type": "DEGContract", "roles": [
		{"role": "buyerPlatform", "participantId": "buyer-app.example.com"},
		{"role": "sellerPlatform", "participantId": "seller-app.example.com"},
	]},
}}

# The violations for an action, context and message at now_ns.
# regopy 1.5.2 ignores `with ... as <rule or expression>`, so every value is bound to a
# local variable first; json.patch paths must likewise be string literals.
violations_of(action, ctx, msg) := vs if {
	now := now_ns
	network_id := ctx.network_id
	vs := network.violations with input.now_ns as now
		with input.action as action
		with input.network_id as network_id
		with input.context as ctx
		with input.message as msg
}

# The rule anchors violated by an init carrying the given message patches.
fired(patches) := {v.rule | some v in violations_of("init", context, json.patch(message, patches))}

# The rule anchors violated by an init whose context carries the given patches.
fired_context(patches) := {v.rule | some v in violations_of("init", json.patch(context, patches), message)}

# Violation messages of the same kinds of mutation, for checking the values they name.
messages(patches) := {v.message | some v in violations_of("init", context, json.patch(message, patches))}

test_valid_init_passes if {
	count(violations_of("init", context, message)) == 0
}

test_discover_without_contract_passes if {
	msg := {"intent": {"textSearch": "solar"}}
	count(violations_of("discover", context, msg)) == 0
}

test_status_by_contract_id_passes if {
	msg := {"contract": {"id": "contract-1"}}
	count(violations_of("status", context, msg)) == 0
}
