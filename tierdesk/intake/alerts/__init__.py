"""Monitoring alerts: webhooks of Alertmanager, Grafana, Zabbix, PagerDuty and any JSON tool, as incidents."""
