using System.Text;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>SCRAM's arithmetic against RFC 7677's worked SCRAM-SHA-256 exchange, and the client's refusals.</summary>
public sealed class ScramTests
{
    // RFC 7677 section 3: user "user", password "pencil"
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    [Fact]
    public void TheClientReproducesRfc7677sExchange()
    {
        var client = new ScramClient(ScramMechanism.ScramSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Encoding.UTF8.GetString(client.First()));
        Assert.Equal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            Encoding.UTF8.GetString(client.Final(Encoding.UTF8.GetBytes(ServerFirst))));
        Assert.True(client.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="u8));
        Assert.False(client.VerifyServerFinal("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="u8));
    }

    [Fact]
    public void TheServersKeysCheckRfc7677sProofAndSignIt()
    {
        var salt = Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ==");
        var salted = Scram.SaltedPassword(ScramMechanism.ScramSha256, "pencil", salt, 4096);
        string authMessage = "n=user,r=rOprNGfwEbeRWgbNEkqO," + ServerFirst + ",c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        var stored = Scram.StoredKey(ScramMechanism.ScramSha256, salted);
        var proof = Convert.FromBase64String("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        Assert.True(Scram.VerifyProof(ScramMechanism.ScramSha256, stored, authMessage, proof));
        proof[0] ^= 1;
        Assert.False(Scram.VerifyProof(ScramMechanism.ScramSha256, stored, authMessage, proof));
        Assert.False(Scram.VerifyProof(ScramMechanism.ScramSha256, stored, authMessage, proof.AsSpan(1)));
        Assert.Equal("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            Convert.ToBase64String(Scram.ServerSignature(ScramMechanism.ScramSha256, Scram.ServerKey(ScramMechanism.ScramSha256, salted), authMessage)));
    }

    [Fact]
    public void Sha512KeysAreItsOwnLength()
    {
        var salted = Scram.SaltedPassword(ScramMechanism.ScramSha512, "pencil", "salt"u8, 4096);
        Assert.Equal(64, salted.Length);
        Assert.Equal(64, Scram.StoredKey(ScramMechanism.ScramSha512, salted).Length);
        Assert.NotEqual(Scram.SaltedPassword(ScramMechanism.ScramSha256, "pencil", "salt"u8, 4096), salted[..32]);
    }

    [Theory]
    [InlineData("r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")] // not our nonce
    [InlineData("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")] // our nonce alone, not extended
    [InlineData("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000")] // too few iterations
    [InlineData("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000")] // more work than a client takes on
    [InlineData("r=rOprNGfwEbeRWgbNEkqOx,i=4096")]
    [InlineData("e=other-error")]
    public void TheClientRefusesABadServerFirstMessage(string serverFirst)
    {
        var client = new ScramClient(ScramMechanism.ScramSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        Assert.Throws<FormatException>(() => client.Final(Encoding.UTF8.GetBytes(serverFirst)));
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("a=b,c", "a=3Db=2Cc")]
    public void NamesAreEscapedBothWays(string name, string escaped)
    {
        Assert.Equal(escaped, Scram.EscapeName(name));
        Assert.Equal(name, Scram.UnescapeName(escaped));
    }

    [Theory]
    [InlineData("a=")]
    [InlineData("a=2D")]
    [InlineData("=3")]
    public void ABadEscapeIsNoName(string saslName) => Assert.Null(Scram.UnescapeName(saslName));

    [Fact]
    public void MechanismsByNameAndCode()
    {
        Assert.Equal(ScramMechanism.ScramSha512, Scram.Parse("scram-sha-512"));
        Assert.Equal(ScramMechanism.Unknown, Scram.Parse("SCRAM-SHA-1"));
        Assert.Equal(ScramMechanism.Unknown, Scram.OfCode(3));
        Assert.Equal("SCRAM-SHA-256", Scram.Name(Scram.OfCode(1)));
    }
}
