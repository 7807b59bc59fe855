"""EventBridge event-pattern cases (pattern, event, expected), taken from the AWS documentation's examples.

Each group names the documentation section it comes from. Where the documentation is silent, a case
cites the behaviour AWS was observed to have (LocalStack records its pattern tests against real AWS, in
tests/aws/services/events/event_pattern_templates/) or the event-ruler README, the library EventBridge runs.

``moto_differs`` marks the few cases where moto's EventPattern is known to answer otherwise, and why;
the tests assert that moto still differs there, so each note stays true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOCS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
OPERATORS = DOCS + "eb-create-pattern-operators.html"

MOTO_ARRAYS_OF_OBJECTS = "moto flattens nested objects but not arrays of objects"
MOTO_EMPTY_ARRAY = "moto counts an empty array as a present value"
MOTO_BOOL_IS_INT = "moto compares with Python semantics, where true is the number 1"


@dataclass(frozen=True)
class Case:
    name: str
    pattern: dict[str, Any]
    event: dict[str, Any]
    expected: bool
    moto_differs: str = ""


# The EC2 event of "Creating event patterns" (eb-event-patterns.html).
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

# The Auto Scaling event of "Matching null values and empty strings" (eb-event-patterns-null-values.html).
NULL_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling",
    "account": "123456789012",
    "time": "2015-11-11T21:31:47Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"eventVersion": "", "responseElements": None},
}

# The Macie event of "Value matching" (eb-event-patterns.html#eb-filtering-value-example), truncated.
MACIE_EVENT: dict[str, Any] = {
    "detail-type": "Macie Alert",
    "source": "aws.macie",
    "detail": {
        "notification-type": "ALERT_CREATED",
        "tags": ["Custom_Alert", "Insider"],
        "risk-score": 80,
        "trigger": {"alert-type": "basic", "risk": 8},
    },
}

# The example event of the event-ruler README ("Ruler by Example"), used by the operator examples.
RULER_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

# The employees event of the event-ruler README ("JSON Array Matching").
EMPLOYEES: dict[str, Any] = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}


def detail(**fields: Any) -> dict[str, Any]:
    return {"source": "aws.ec2", "detail": fields}


CASES: list[Case] = [
    # Creating event patterns, Match values (eb-event-patterns.html#eb-create-pattern)
    Case("ec2_terminated", {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                            "detail": {"state": ["terminated"]}}, EC2_EVENT, True),
    Case("ec2_other_state", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, EC2_EVENT, False),
    Case("one_of_several_values", {"source": ["aws.ec2", "aws.fargate"]}, EC2_EVENT, True),
    Case("strings_are_case_sensitive", {"source": ["AWS.EC2"]}, EC2_EVENT, False),
    Case("every_field_must_be_present", {"source": ["aws.ec2"], "detail": {"instance-type": ["t3.micro"]}},
         EC2_EVENT, False),
    Case("same_nesting_required", {"state": ["terminated"]}, EC2_EVENT, False),

    # Value matching (eb-event-patterns.html#eb-filtering-value-example)
    Case("macie_numbers", {"source": ["aws.macie"], "detail": {"risk-score": [80], "trigger": {"risk": [8]}}},
         MACIE_EVENT, True),
    Case("number_is_not_string", {"detail": {"risk-score": ["80"]}}, MACIE_EVENT, False),
    Case("string_is_not_number", {"detail": {"notification-type": [80]}}, MACIE_EVENT, False),
    # AWS matches 300 and 300.0 although the page says otherwise (LocalStack number_comparison_float, AWS-recorded)
    Case("number_300_matches_300_0", {"number": [300]}, {"number": 300.0}, True),
    Case("boolean_true", {"detail": {"enabled": [True]}}, detail(enabled=True), True),
    Case("boolean_is_not_string", {"detail": {"enabled": [True]}}, detail(enabled="true"), False),
    Case("boolean_is_not_number", {"detail": {"enabled": [True]}}, detail(enabled=1), False,
         moto_differs=MOTO_BOOL_IS_INT),

    # Matching null values and empty strings (eb-event-patterns-null-values.html)
    Case("empty_string", {"detail": {"eventVersion": [""]}}, NULL_EVENT, True),
    Case("null_value", {"detail": {"responseElements": [None]}}, NULL_EVENT, True),
    Case("empty_string_is_not_null", {"detail": {"eventVersion": [None]}}, NULL_EVENT, False),
    Case("null_is_not_empty_string", {"detail": {"responseElements": [""]}}, NULL_EVENT, False),
    Case("null_is_not_the_string_null", {"detail": {"responseElements": [None]}},
         detail(responseElements="null"), False),
    Case("null_does_not_match_empty_array", {"resources": [None]}, NULL_EVENT, False),

    # Arrays in event patterns (eb-event-patterns-arrays.html)
    Case("array_intersection", {"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
    ]}, {"resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
    ]}, True),
    Case("array_no_intersection", {"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]},
         {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, False),
    Case("macie_tag_in_array", {"detail": {"tags": ["Insider"]}}, MACIE_EVENT, True),
    Case("operator_on_array_elements", {"resources": [{"prefix": "arn:aws:ec2:"}]}, EC2_EVENT, True),
    # event-ruler README, JSON Array Matching: objects inside arrays, one element at a time
    Case("array_of_objects", {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True,
         moto_differs=MOTO_ARRAYS_OF_OBJECTS),
    Case("array_of_objects_same_element", {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
         EMPLOYEES, True, moto_differs=MOTO_ARRAYS_OF_OBJECTS),
    Case("array_of_objects_across_elements", {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
         EMPLOYEES, False),

    # Comparison operators, Prefix matching / Prefix matching while ignoring case (eb-create-pattern-operators.html)
    Case("prefix", {"time": [{"prefix": "2017-10-02"}]}, RULER_EVENT, True),
    Case("prefix_other_day", {"time": [{"prefix": "2017-10-03"}]}, RULER_EVENT, False),
    Case("prefix_only_on_strings", {"detail": {"c-count": [{"prefix": "5"}]}}, RULER_EVENT, False),
    Case("prefix_ignore_case", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
         detail(service="eventbridge"), True),
    Case("prefix_ignore_case_no_match", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
         detail(service="lambda"), False),
    Case("region_in_us", {"region": [{"prefix": "us-"}]}, RULER_EVENT, True),

    # Comparison operators, Suffix matching / Suffix matching while ignoring case
    Case("suffix", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    Case("suffix_is_case_sensitive", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    Case("suffix_ignore_case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
         detail(FileName="image.PNG"), True),
    Case("suffix_ignore_case_no_match", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
         detail(FileName="image.jpg"), False),

    # Comparison operators, Equals-ignore-case matching
    Case("equals_ignore_case", {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
         EC2_EVENT, True),
    Case("equals_ignore_case_whole_value", {"detail-type": [{"equals-ignore-case": "ec2 instance"}]},
         EC2_EVENT, False),
    Case("equals_ignore_case_only_on_strings", {"detail": {"c-count": [{"equals-ignore-case": "5"}]}},
         RULER_EVENT, False),

    # Comparison operators, Wildcard matching
    Case("wildcard_event_bus", {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
         {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}, True),
    Case("wildcard_other_region", {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
         {"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/default"}, False),
    Case("wildcard_extension", {"FileName": [{"wildcard": "*.png"}]}, {"FileName": "dir/a.png"}, True),
    Case("wildcard_middle", {"Title": [{"wildcard": "*Title*"}]}, {"Title": "MyTitleA"}, True),
    Case("wildcard_zero_characters", {"FileName": [{"wildcard": "*"}]}, {"FileName": ""}, True),
    Case("wildcard_escaped_star", {"FileName": [{"wildcard": "a\\*b"}]}, {"FileName": "a*b"}, True),
    Case("wildcard_escaped_star_is_literal", {"FileName": [{"wildcard": "a\\*b"}]}, {"FileName": "axb"}, False),
    # LocalStack content_wildcard_repeating (AWS-recorded)
    Case("wildcard_repeating", {"FileName": [{"wildcard": "/Users/*/dir/dir/dir/dir/dir/doc.txt"}]},
         {"FileName": "/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"}, True),
    Case("wildcard_only_on_strings", {"detail": {"c-count": [{"wildcard": "*"}]}}, RULER_EVENT, False),

    # Comparison operators, Anything-but matching
    Case("anything_but_string", {"detail": {"state": [{"anything-but": "initializing"}]}}, RULER_EVENT, True),
    Case("anything_but_string_excluded", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state="initializing"), False),
    Case("anything_but_number", {"detail": {"x-limit": [{"anything-but": 123}]}}, RULER_EVENT, True),
    Case("anything_but_number_excluded", {"detail": {"x-limit": [{"anything-but": 123}]}},
         detail(**{"x-limit": 123}), False),
    Case("anything_but_list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
         RULER_EVENT, True),
    Case("anything_but_list_excluded", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
         detail(state="stopped"), False),
    Case("anything_but_numbers", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, RULER_EVENT, True),
    Case("anything_but_numbers_excluded", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
         detail(**{"x-limit": 300.0}), False),
    Case("anything_but_missing_field", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(other="x"), False),
    # LocalStack content_anything_but_string_null (AWS-recorded): null is "anything but" a string
    Case("anything_but_null_value", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state=None), True),
    Case("anything_but_string_on_number", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state=5), True),
    Case("anything_but_array_one_element_left", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state=["initializing", "running"]), True),
    Case("anything_but_array_all_excluded", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state=["initializing"]), False),
    Case("anything_but_empty_array", {"detail": {"state": [{"anything-but": "initializing"}]}},
         detail(state=[]), False),

    # Comparison operators, Anything-but (begins with / ends with / ignore case / using a wildcard)
    Case("anything_but_prefix", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, RULER_EVENT, True),
    Case("anything_but_prefix_excluded", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
         detail(state="initializing"), False),
    # LocalStack content_anything_prefix_int_value (AWS-recorded)
    Case("anything_but_prefix_on_number", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
         detail(state=12), True),
    Case("anything_but_prefix_missing", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
         detail(other="x"), False),
    # LocalStack content_anything_prefix_list (AWS-recorded)
    Case("anything_but_prefix_list", {"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]},
         {"region": "ap-south-1"}, True),
    Case("anything_but_prefix_list_excluded", {"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]},
         {"region": "eu-west-1"}, False),
    Case("anything_but_suffix", {"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.txt"}, True),
    Case("anything_but_suffix_excluded", {"FileName": [{"anything-but": {"suffix": ".png"}}]},
         {"FileName": "a.png"}, False),
    Case("anything_but_ignore_case", {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
         {"state": "running"}, True),
    Case("anything_but_ignore_case_excluded", {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
         {"state": "INITIALIZING"}, False),
    Case("anything_but_ignore_case_list",
         {"state": [{"anything-but": {"equals-ignore-case": ["stopped", "overloaded"]}}]},
         {"state": "Stopped"}, False),
    Case("anything_but_wildcard", {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
         {"FilePath": "/usr/bin/tool"}, True),
    Case("anything_but_wildcard_excluded", {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
         {"FilePath": "/usr/lib/libc.so"}, False),
    # LocalStack content_anything_wildcard_int (AWS-recorded)
    Case("anything_but_wildcard_on_number", {"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]},
         {"FilePath": 123}, True),

    # Comparison operators, Numeric matching
    Case("numeric_example", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                                        "d-count": [{"numeric": ["<", 10]}],
                                        "x-limit": [{"numeric": ["=", 3.018e2]}]}}, RULER_EVENT, True),
    Case("numeric_out_of_range", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
         detail(**{"c-count": 6}), False),
    Case("numeric_closed_bound", {"detail": {"c-count": [{"numeric": [">=", 0, "<", 5]}]}},
         detail(**{"c-count": 0}), True),
    Case("numeric_open_bound", {"detail": {"c-count": [{"numeric": [">=", 0, "<", 5]}]}},
         detail(**{"c-count": 5}), False),
    # LocalStack numeric-int-float (AWS-recorded)
    Case("numeric_float_value", {"number": [{"numeric": [">", 100]}]}, {"number": 101.0}, True),
    # LocalStack numeric-string_NEG and numeric-null_NEG (AWS-recorded): only JSON numbers
    Case("numeric_on_string", {"detail": {"c-count": [{"numeric": [">", 0]}]}}, detail(**{"c-count": "5"}), False),
    Case("numeric_on_null", {"detail": {"c-count": [{"numeric": [">", 0]}]}}, detail(**{"c-count": None}), False),
    Case("numeric_on_boolean", {"detail": {"c-count": [{"numeric": [">", 0]}]}}, detail(**{"c-count": True}),
         False, moto_differs=MOTO_BOOL_IS_INT),

    # Comparison operators, IP address matching (IPv4 and IPv6)
    Case("cidr", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, RULER_EVENT, True),
    Case("cidr_outside", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, detail(**{"source-ip": "10.0.1.1"}),
         False),
    Case("cidr_ipv6", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8:1234:1a00::/64"}]}},
         detail(sourceIPAddress="2001:db8:1234:1a00::1"), True),
    Case("cidr_ipv6_outside", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8:1234:1a00::/64"}]}},
         detail(sourceIPAddress="2001:db8:1234:1b00::1"), False),
    # LocalStack content_ip_address_bad_type_NEG (AWS-recorded)
    Case("cidr_on_number", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, detail(sourceIPAddress=123),
         False),
    Case("cidr_on_host_name", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
         detail(sourceIPAddress="ec2.amazonaws.com"), False),
    Case("cidr_ipv4_in_ipv6_network", {"detail": {"sourceIPAddress": [{"cidr": "::/0"}]}},
         detail(sourceIPAddress="10.0.0.1"), False),

    # Comparison operators, Exists matching
    Case("exists_true", {"detail": {"state": [{"exists": True}]}}, EC2_EVENT, True),
    Case("exists_true_missing", {"detail": {"c-count": [{"exists": True}]}}, EC2_EVENT, False),
    Case("exists_false", {"detail": {"c-count": [{"exists": False}]}}, EC2_EVENT, True),
    Case("exists_false_present", {"detail": {"state": [{"exists": False}]}}, EC2_EVENT, False),
    Case("exists_false_on_object", {"detail": {"c-count": [{"exists": False}]}},
         detail(state=["initializing", "running"], **{"c-count": {"c1": 100}}), True),
    Case("exists_true_on_object", {"detail": {"c-count": [{"exists": True}]}}, detail(**{"c-count": {"c1": 100}}),
         False),
    Case("exists_true_on_null", {"detail": {"responseElements": [{"exists": True}]}}, NULL_EVENT, True),
    # LocalStack exists_list_empty_NEG / exists_list_empty (AWS-recorded): an empty array is no value
    Case("exists_true_empty_array", {"resources": [{"exists": True}]}, NULL_EVENT, False,
         moto_differs=MOTO_EMPTY_ARRAY),
    Case("exists_false_empty_array", {"resources": [{"exists": False}]}, NULL_EVENT, True,
         moto_differs=MOTO_EMPTY_ARRAY),
    # LocalStack content_exists_false (AWS-recorded): missing intermediate objects
    Case("exists_false_deep", {"detail": {"level1": {"level2": {"level3": {"level4": [{"exists": False}]}}}}},
         detail(level1={"other": "value"}), True),
    # LocalStack list_within_dict (AWS-recorded)
    Case("exists_in_array_of_objects", {"detail": {"automations": {"id": [{"exists": True}]}}},
         detail(automations=[{"key1": "value1"}, {"id": "match-does-exist"}, {"key2": "value2"}]), True,
         moto_differs=MOTO_ARRAYS_OF_OBJECTS),

    # Comparison operators, "Or" matching with $or (and the event-ruler README's $or examples)
    Case("or_first_branch", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.cloudwatch", "metricName": "CPUUtilization"}, True),
    Case("or_second_branch", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"}, True),
    Case("or_no_branch", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.cloudwatch", "metricName": "DiskUsage"}, False),
    Case("or_still_needs_and", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.ec2", "metricName": "CPUUtilization"}, False),
    Case("or_with_and_inside", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2"}, True),
    Case("or_and_inside_incomplete", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "metricType": "MetricType"}, False),
    Case("or_parallel_nested", {
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}},
        {"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}}, True),
    Case("or_parallel_nested_one_side", {
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}},
        {"namespace": "AWS/EC2", "detail": {"detail-type": "EC2 Instance State-change Notification"}}, False),
    # LocalStack or-exists-parent (AWS-recorded): values of one field are OR-ed, exists included
    Case("or_anything_but_or_absent", {"dynamodb": {"NewImage": {"homemade": {"S": [
        {"anything-but": ["roses"]}, {"exists": False}]}}}},
        {"dynamodb": {"NewImage": {"purchased": {"N": "789"}}}}, True),

    # Complex example with multiple matching (content filtering, event-ruler README "Complex example")
    Case("complex_example", {
        "time": [{"prefix": "2017-10-02"}],
        "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                   "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
                   "source-ip": [{"cidr": "10.0.0.0/8"}]}}, RULER_EVENT, True),
    Case("complex_example_one_field_fails", {
        "time": [{"prefix": "2017-10-02"}],
        "detail": {"state": [{"anything-but": "running"}], "c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        RULER_EVENT, False),

    # The normalized monitor event (DESIGN.md, "The event"): the shape rules run on
    Case("monitor_public_acl", {"provider": ["aws"], "operation": ["PutBucketAcl"],
                                "details": {"public": [True]}},
         {"provider": "aws", "operation": "PutBucketAcl", "details": {"public": True}}, True),
    Case("monitor_operator_mix", {"resource": {"kind": ["object"], "name": [{"suffix": ".pem"}]},
                                  "actor": {"ip": [{"anything-but": {"prefix": "10."}}]},
                                  "details": {"size": [{"numeric": [">", 0]}]}},
         {"resource": {"kind": "object", "name": "keys/id.pem"}, "actor": {"ip": "203.0.113.9"},
          "details": {"size": 1675}}, True),
    Case("monitor_failure_outcome", {"outcome": ["failure"], "operation": [{"prefix": "Delete"}]},
         {"outcome": "success", "operation": "DeleteBucket"}, False),
]
