"""Complaints (pengaduan, sanggah): filed by families and the public, decided by the Dinas, and the data
corrections an upheld complaint leads to."""
