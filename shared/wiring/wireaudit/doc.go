// Package wireaudit builds AuditDigestFunction (shared/auditjob) from its configuration.
package wireaudit
