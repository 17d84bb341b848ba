"""Applicants, their applications, school choices and documents."""
