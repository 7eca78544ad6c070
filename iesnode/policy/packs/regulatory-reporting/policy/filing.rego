# METADATA
# title: Regulatory reporting: ARR filing checks
# description: >-
#   Required fields, enumerations, formats and thresholds a State Commission applies to an
#   Aggregate Revenue Requirement filing (ArrFiling v0.5) delivered by a DISCOM. See
#   energy-domain research section 7 and intent.md.
# related_resources:
#   - ref: intent.md
package ies.regulatory.filing

import rego.v1

cfg := data.reporting

enforced if input.action in cfg.enforced_actions

# Every ArrFiling object carried anywhere in the message.
filings contains f if {
	walk(input.message, [_, f])
	is_object(f)
	f.objectType == "ARR_FILING"
}

filing_id(f) := object.get(f, "filingId", "(no filingId)")

violation(rule, title, message) := {
	"rule": rule,
	"title": title,
	"message": message,
	"intent": concat("", ["intent.md#", rule]),
}

blank(value) if value == null

blank(value) if value == ""

blank(value) if value == []

# The start year of a well-formed "FY YYYY-YY" label whose second year follows the first.
fy_start(label) := start if {
	is_string(label)
	regex.match(cfg.fiscal_year_pattern, label)
	start := to_number(substring(label, 3, 4))
	to_number(substring(label, 8, 2)) == (start + 1) % 100
}

arr_lines(year) := [li | some li in year.lineItems; li.category == "ARR"]

# METADATA
# title: Required fields present
# description: The filing carries every field the Commission requires, non-empty.
# related_resources:
#   - ref: intent.md#required-fields
violations contains v if {
	enforced
	some f in filings
	some field in cfg.required_fields
	blank(object.get(f, field, null))
	v := violation(
		"required-fields",
		"Required fields present",
		sprintf("filing %v: required field %v is missing or empty", [filing_id(f), field]),
	)
}

# METADATA
# title: Enumerated values
# description: Coded fields of the filing, its fiscal years and line items take one of their allowed values.
# related_resources:
#   - ref: intent.md#enumerated-values
violations contains v if {
	enforced
	some [where, value, allowed] in coded_values
	not value in allowed
	v := violation(
		"enumerated-values",
		"Enumerated values",
		sprintf("%v is %v; allowed: %v", [where, value, allowed]),
	)
}

coded_values contains [where, f[field], allowed] if {
	some f in filings
	some field, allowed in cfg.enums.filing
	where := sprintf("filing %v: %v", [filing_id(f), field])
}

coded_values contains [where, y[field], allowed] if {
	some f in filings
	some i, y in f.fiscalYears
	some field, allowed in cfg.enums.fiscal_year
	where := sprintf("filing %v: fiscalYears[%d].%v", [filing_id(f), i, field])
}

coded_values contains [where, li[field], allowed] if {
	some f in filings
	some i, y in f.fiscalYears
	some j, li in y.lineItems
	some field, allowed in cfg.enums.line_item
	where := sprintf("filing %v: fiscalYears[%d].lineItems[%d].%v", [filing_id(f), i, j, field])
}

# METADATA
# title: Filing identifier format
# description: >-
#   The filingId reads COMMISSION/ARR/LICENSEE/TYPE/YEARS and its licensee segment is the
#   filing's licenseeCode.
# related_resources:
#   - ref: intent.md#filing-id-format
violations contains v if {
	enforced
	some f in filings
	problem := filing_id_problem(f)
	v := violation(
		"filing-id-format",
		"Filing identifier format",
		sprintf("filing %v: %v", [filing_id(f), problem]),
	)
}

filing_id_problem(f) := "does not match COMMISSION/ARR/LICENSEE/TYPE/YYYY-YY" if {
	not regex.match(cfg.filing_id_pattern, object.get(f, "filingId", ""))
}

filing_id_problem(f) := msg if {
	regex.match(cfg.filing_id_pattern, f.filingId)
	licensee := split(f.filingId, "/")[2]
	licensee != object.get(f, "licenseeCode", "")
	msg := sprintf("licensee segment %v is not licenseeCode %v", [licensee, object.get(f, "licenseeCode", null)])
}

# METADATA
# title: Fiscal year format
# description: >-
#   Fiscal year labels read "FY YYYY-YY" with consecutive years, and the fiscal years of a filing
#   follow each other one year apart.
# related_resources:
#   - ref: intent.md#fiscal-year-format
violations contains v if {
	enforced
	some [id, where, label] in fiscal_year_labels
	not fy_start(label)
	v := violation(
		"fiscal-year-format",
		"Fiscal year format",
		sprintf("filing %v: %v is %v; expected FY YYYY-YY with consecutive years", [id, where, label]),
	)
}

# METADATA
# title: Fiscal year format
# description: The fiscal years of a filing follow each other one year apart.
# related_resources:
#   - ref: intent.md#fiscal-year-format
violations contains v if {
	enforced
	some f in filings
	some i, y in f.fiscalYears
	i > 0
	previous := fy_start(f.fiscalYears[i - 1].fiscalYear)
	current := fy_start(y.fiscalYear)
	current != previous + 1
	v := violation(
		"fiscal-year-format",
		"Fiscal year format",
		sprintf("filing %v: fiscalYears[%d] is %v, not the year after %v", [
			filing_id(f), i, y.fiscalYear, f.fiscalYears[i - 1].fiscalYear,
		]),
	)
}

fiscal_year_labels contains [filing_id(f), where, object.get(y, "fiscalYear", null)] if {
	some f in filings
	some i, y in f.fiscalYears
	where := sprintf("fiscalYears[%d].fiscalYear", [i])
}

fiscal_year_labels contains [filing_id(f), field, f[field]] if {
	some f in filings
	some field in ["controlPeriodStart", "controlPeriodEnd"]
}

# METADATA
# title: MYT control period
# description: >-
#   A multi-year tariff filing states its control period, which starts no later than it ends and
#   spans at most the configured number of years.
# related_resources:
#   - ref: intent.md#control-period
violations contains v if {
	enforced
	some f in filings
	f.filingType == "MYT"
	problem := control_period_problem(f)
	v := violation(
		"control-period",
		"MYT control period",
		sprintf("filing %v: %v", [filing_id(f), problem]),
	)
}

control_period_problem(f) := "controlPeriodStart and controlPeriodEnd are required for MYT" if {
	some field in ["controlPeriodStart", "controlPeriodEnd"]
	blank(object.get(f, field, null))
}

control_period_problem(f) := msg if {
	span := (fy_start(f.controlPeriodEnd) - fy_start(f.controlPeriodStart)) + 1
	not span_ok(span)
	msg := sprintf("control period %v to %v spans %d years; allowed 1..%d", [
		f.controlPeriodStart, f.controlPeriodEnd, span, cfg.max_control_period_years,
	])
}

span_ok(span) if {
	span >= 1
	span <= cfg.max_control_period_years
}

# METADATA
# title: One ARR line per fiscal year
# description: Each fiscal year has exactly one line item of category ARR (the aggregate requirement).
# related_resources:
#   - ref: intent.md#single-arr-line
violations contains v if {
	enforced
	some f in filings
	some y in f.fiscalYears
	n := count(arr_lines(y))
	n != 1
	v := violation(
		"single-arr-line",
		"One ARR line per fiscal year",
		sprintf("filing %v: %v has %d ARR line items; exactly 1 is required", [filing_id(f), y.fiscalYear, n]),
	)
}

# METADATA
# title: Income is not positive
# description: INCOME line items reduce the requirement, so their amounts are zero or negative.
# related_resources:
#   - ref: intent.md#income-non-positive
violations contains v if {
	enforced
	some f in filings
	some y in f.fiscalYears
	some li in y.lineItems
	li.category == "INCOME"
	is_number(li.amount)
	li.amount > 0
	v := violation(
		"income-non-positive",
		"Income is not positive",
		sprintf("filing %v: %v %v is %v; income must be entered as zero or negative", [
			filing_id(f), y.fiscalYear, li.lineItemId, li.amount,
		]),
	)
}

# METADATA
# title: ARR growth threshold
# description: >-
#   A PROPOSED year's ARR does not exceed the previous year's ARR by more than the configured
#   percentage.
# related_resources:
#   - ref: intent.md#arr-growth-threshold
violations contains v if {
	enforced
	some f in filings
	some i, y in f.fiscalYears
	i > 0
	y.amountBasis == "PROPOSED"
	current := single_arr_amount(y)
	previous := single_arr_amount(f.fiscalYears[i - 1])
	previous > 0
	# compare in hundredths of the unit: current / previous <= 1 + pct / 100
	(round(current * 100) * 100) > (round(previous * 100) * (100 + cfg.max_arr_growth_pct))
	v := violation(
		"arr-growth-threshold",
		"ARR growth threshold",
		sprintf("filing %v: %v ARR %v exceeds %v ARR %v by more than %d%%", [
			filing_id(f), y.fiscalYear, current, f.fiscalYears[i - 1].fiscalYear, previous,
			cfg.max_arr_growth_pct,
		]),
	)
}

single_arr_amount(year) := amount if {
	lines := arr_lines(year)
	count(lines) == 1
	amount := lines[0].amount
	is_number(amount)
}

# METADATA
# title: Filing date
# description: The filingDate is a calendar date (YYYY-MM-DD) that is not after the decision time.
# related_resources:
#   - ref: intent.md#filing-date
violations contains v if {
	enforced
	some f in filings
	problem := filing_date_problem(object.get(f, "filingDate", null))
	v := violation(
		"filing-date",
		"Filing date",
		sprintf("filing %v: %v", [filing_id(f), problem]),
	)
}

filing_date_problem(date) := sprintf("filingDate %v is not a YYYY-MM-DD date", [date]) if {
	date != null
	not valid_date(date)
}

filing_date_problem(date) := sprintf("filingDate %v is after the decision time", [date]) if {
	valid_date(date)
	time.parse_ns("2006-01-02", date) > input.now_ns
}

valid_date(date) if {
	is_string(date)
	regex.match(cfg.date_pattern, date)
}
