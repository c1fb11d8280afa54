"""Every write of payments: payments and callbacks, refunds, receipts, expenses and statements."""
