// Creates the topics, SCRAM users and ACLs of a JSON spec with Kafka's Admin API, idempotently.
// Run by devtools/services/secured/kafka.py as a single-file program (`java -cp <kafka jars>
// KafkaProvision.java admin.properties spec.json`): one JVM instead of one per kafka-topics /
// kafka-acls / kafka-configs call, and the passwords stay in a 0600 file, off command lines.
// The spec is written from k8s/strimzi (users-base.yaml, topics-dev.yaml); it prints no secret.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class KafkaProvision {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            props.load(in);
        }
        JsonNode spec = new ObjectMapper().readTree(Path.of(args[1]).toFile());
        try (Admin admin = Admin.create(props)) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> topics = new ArrayList<>();
            for (JsonNode t : spec.get("topics")) {
                String name = t.get("name").asText();
                if (existing.contains(name)) {
                    continue;
                }
                Map<String, String> config = new HashMap<>();
                t.get("config").properties().forEach(e -> config.put(e.getKey(), e.getValue().asText()));
                topics.add(new NewTopic(name, t.get("partitions").asInt(), (short) t.get("replicas").asInt())
                        .configs(config));
            }
            admin.createTopics(topics).all().get();

            List<UserScramCredentialAlteration> users = new ArrayList<>();
            for (JsonNode u : spec.get("scram")) {
                // 4096 iterations: Strimzi's User Operator default.
                users.add(new UserScramCredentialUpsertion(u.get("user").asText(),
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), u.get("password").asText()));
            }
            admin.alterUserScramCredentials(users).all().get();

            List<AclBinding> acls = new ArrayList<>();
            for (JsonNode a : spec.get("acls")) {
                acls.add(new AclBinding(
                        new ResourcePattern(ResourceType.fromString(a.get("resourceType").asText()),
                                a.get("name").asText(), PatternType.fromString(a.get("patternType").asText())),
                        new AccessControlEntry("User:" + a.get("user").asText(), a.get("host").asText(),
                                AclOperation.fromString(a.get("operation").asText()), AclPermissionType.ALLOW)));
            }
            admin.createAcls(acls).all().get();
            System.out.printf("provisioned: %d new topic(s), %d SCRAM user(s), %d ACL(s)%n",
                    topics.size(), users.size(), acls.size());
        }
    }
}
