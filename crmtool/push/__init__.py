"""Push golden records to a CRM through its REST API (`crmtool push`).

`runner` plans and sends, target-agnostic; `bitrix24` and `amocrm` speak each API;
`ledger` remembers what went where so a killed push resumes without duplicates;
`throttle` and `transport` keep the portal's rate limits and retry what is safe to retry;
`secrets` reads webhook URLs and tokens from the environment or a file, never the workspace.
"""
