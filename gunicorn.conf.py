"""gunicorn's settings; gunicorn reads ``gunicorn.conf.py`` from the folder it starts in (the
project's root, as the Procfile runs it).

Access log lines name the method, the path and the status, never the query string nor the
referring address: either may hold personal data (a search, a link from elsewhere), which an
access log, kept and shipped to other systems, must not.
"""

# gunicorn's default, with the path (%(U)s) instead of the request line (%(r)s) and without the
# referrer (%(f)s).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
