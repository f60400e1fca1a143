// Package wireiam is the cold start the builders of the IAM routes share (wiresamples, wiregetreport,
// wirereplay): the settings each requires, the AWS configuration, and the access control the route
// answers by (access.Build). A package of its own so that the functions that are not IAM routes link
// neither the policy engine nor its parameter reader.
package wireiam
