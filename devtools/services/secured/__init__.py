"""Secured local Kafka and Elasticsearch, and the Strimzi/ECK objects that point a cluster at them.

A second broker and a second node beside the plain ones (devtools/services/kafka.py and
elasticsearch.py, reused with other settings), secured as the operators secure
`k8s/strimzi` and `k8s/eck`: SASL_SSL + SCRAM-SHA-512 + ACLs, HTTPS + file realm. Users,
ACLs, topics and roles come from those manifests (sources.py); see README.md here.

    from devtools.services.secured.material import SecuredConfig
    from devtools.services.secured.services import SecuredServices
    from devtools.services.secured import manifests

    services = SecuredServices(SecuredConfig(namespace="ts-e2e", bind="10.244.0.1"))
    started = services.up()                      # idempotent; Started(kafka=..., es=...)
    docs = manifests.objects(services.config)    # Secrets, Services, EndpointSlices
    text = manifests.dump(docs)                  # YAML for `kubectl apply -f -`
    services.down(started)                       # stop only what `up` started

Unlike the plain services, it needs the dev virtualenv (`make dev`): PyYAML reads the manifests
and `cryptography` makes the certificates and the Java truststore.
"""
