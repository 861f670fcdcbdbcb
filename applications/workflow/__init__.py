"""Workflow: the state table and its transitions (``states``), working-day deadlines and pauses
(``deadlines``, pure), the application's clock that stores them (``clock``), routing to a unit's
queue (``routing``, pure), and the admin pages for a year's 放假安排 (``calendar_views``)."""
