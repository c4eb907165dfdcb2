// Tierdesk's own behaviour. No inline scripts anywhere (CSP: script-src 'self').
"use strict";
