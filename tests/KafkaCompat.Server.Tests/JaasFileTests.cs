using System.Text;
using KafkaCompat.Broker.Config;
using KafkaCompat.Broker.Security;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>SASL users from a JAAS file, as Kafka reads <c>-Djava.security.auth.login.config</c>: the listener's
/// section before KafkaServer, the listener's property before either, and the file named by <c>--jaas-config</c> or
/// <c>KAFKA_OPTS</c>.</summary>
public sealed class JaasFileTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    private const string Jaas = """
        // the brokers' login modules
        KafkaServer {
            org.apache.kafka.common.security.plain.PlainLoginModule required
                username="admin" password="admin-secret"
                user_admin="admin-secret"
                user_alice="alice-secret";
            org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";
        };
        /* a listener of its own */
        sasl_ssl.KafkaServer {
            org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="bob-secret";
        };
        Client { org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret"; };
        """;

    private static bool LogsIn(SaslMechanisms.Listener listener, string user, string password) =>
        listener.Create("PLAIN")!.Evaluate(Encoding.UTF8.GetBytes($"\0{user}\0{password}")).Complete;

    private BrokerConfig Config(params (string Key, string Value)[] settings)
    {
        File.WriteAllText(_file, Jaas);
        var config = new BrokerConfig { JaasFile = _file };
        config.Set("listeners", "SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0");
        config.Set("sasl.enabled.mechanisms", "PLAIN,OAUTHBEARER");
        foreach (var (k, v) in settings) config.Set(k, v);
        return config;
    }

    [Fact]
    public void TheSectionsAndTheirEntriesAreRead()
    {
        var sections = JaasConfig.Sections(Jaas);
        Assert.Equal(["KafkaServer", "sasl_ssl.KafkaServer", "Client"], sections.Keys);
        Assert.Equal(2, sections["KafkaServer"].Count);
        var plain = JaasConfig.Entry(sections, "KafkaServer", "PlainLoginModule")!;
        Assert.Equal(["admin", "alice"], JaasConfig.PlainUsers(plain).Keys.Order());
        Assert.Null(JaasConfig.Entry(sections, "Nowhere", "PlainLoginModule"));
    }

    [Fact]
    public void EachListenerTakesItsSectionThenKafkaServer()
    {
        var config = Config();
        var listeners = Listeners.Of(config);
        var plaintext = SaslMechanisms.For(config, listeners[0]);
        Assert.True(LogsIn(plaintext, "alice", "alice-secret"));
        Assert.False(LogsIn(plaintext, "bob", "bob-secret"));
        var ssl = SaslMechanisms.For(config, listeners[1]);
        Assert.True(LogsIn(ssl, "bob", "bob-secret"));
        Assert.False(LogsIn(ssl, "alice", "alice-secret"));
        // OAUTHBEARER's validator options come from the file too: a token without the scope is refused
        var oauth = plaintext.Create("OAUTHBEARER")!;
        string token = Convert.ToBase64String("{\"alg\":\"none\"}"u8).TrimEnd('=') + "." + Convert.ToBase64String("{\"sub\":\"a\",\"exp\":99999999999}"u8).TrimEnd('=') + ".";
        var step = oauth.Evaluate(Encoding.UTF8.GetBytes($"n,,\u0001auth=Bearer {token}\u0001\u0001"));
        Assert.Contains("insufficient_scope", Encoding.UTF8.GetString(step.Challenge));
    }

    [Fact]
    public void TheListenersPropertyComesBeforeTheFile()
    {
        var config = Config(("listener.name.sasl_plaintext.plain.sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_carol=\"carol-secret\";"));
        var plaintext = SaslMechanisms.For(config, Listeners.Of(config)[0]);
        Assert.True(LogsIn(plaintext, "carol", "carol-secret"));
        Assert.False(LogsIn(plaintext, "alice", "alice-secret"));
    }

    [Fact]
    public void KafkaOptsNamesTheFileAndABadOneStopsTheStart()
    {
        var config = new BrokerConfig();
        config.ApplyEnvironment(new Dictionary<string, string> { ["KAFKA_OPTS"] = $"-Xmx1G -Djava.security.auth.login.config={_file} -Dfoo=bar" });
        Assert.Equal(_file, config.JaasFile);
        config.JaasFile = _file + ".missing";
        Assert.Contains("does not exist", config.CheckConsistency());
        Assert.Throws<ArgumentException>(() => JaasConfig.Sections("KafkaServer { x required; "));
        Assert.Throws<ArgumentException>(() => JaasConfig.Sections("KafkaServer { x required; }; trailing"));
    }
}
