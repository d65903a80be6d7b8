-- wrk script: the legacy validation POST (a form body), with the credentials given in the environment.
wrk.method = "POST"
wrk.body = "PhoneNumber=415-867-5309&FriendlyName=My+Home+Phone+Number"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
