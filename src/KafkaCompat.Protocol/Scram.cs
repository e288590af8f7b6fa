using System.Security.Cryptography;
using System.Text;

namespace KafkaCompat.Protocol;

/// <summary>The SCRAM mechanisms Kafka serves, by their code in AlterUserScramCredentials and
/// DescribeUserScramCredentials (UNKNOWN is 0).</summary>
public enum ScramMechanism : sbyte
{
    Unknown = 0,
    ScramSha256 = 1,
    ScramSha512 = 2,
}

/// <summary>SCRAM's arithmetic (RFC 5802 with RFC 7677's SHA-256 and SHA-512), as both sides of the exchange and the
/// credential store need it: the salted password, the keys derived from it, the proof and the signatures.</summary>
public static class Scram
{
    /// <summary>The fewest iterations Kafka accepts for either mechanism (login and AlterUserScramCredentials).</summary>
    public const int MinIterations = 4096;
    /// <summary>The most iterations AlterUserScramCredentials accepts.</summary>
    public const int MaxIterations = 16384;
    /// <summary>The most iterations our client derives a key for when a server asks (librdkafka's cap): a count from
    /// the wire bounds the client's work.</summary>
    public const int MaxClientIterations = 1_000_000;

    public static string Name(ScramMechanism m) => m switch
    {
        ScramMechanism.ScramSha256 => "SCRAM-SHA-256",
        ScramMechanism.ScramSha512 => "SCRAM-SHA-512",
        _ => "UNKNOWN",
    };

    /// <summary>The mechanism of a SASL name (SCRAM-SHA-256, SCRAM-SHA-512; case-insensitive), else Unknown.</summary>
    public static ScramMechanism Parse(string? name) => name?.ToUpperInvariant() switch
    {
        "SCRAM-SHA-256" => ScramMechanism.ScramSha256,
        "SCRAM-SHA-512" => ScramMechanism.ScramSha512,
        _ => ScramMechanism.Unknown,
    };

    /// <summary>The mechanism of a wire code; codes Kafka does not know are Unknown.</summary>
    public static ScramMechanism OfCode(sbyte code) => code is 1 or 2 ? (ScramMechanism)code : ScramMechanism.Unknown;

    private static HashAlgorithmName Algorithm(ScramMechanism m) => m switch
    {
        ScramMechanism.ScramSha256 => HashAlgorithmName.SHA256,
        ScramMechanism.ScramSha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, "not a SCRAM mechanism"),
    };

    public static int HashLength(ScramMechanism m) => m == ScramMechanism.ScramSha512 ? 64 : 32;

    /// <summary>Hi(password, salt, i): PBKDF2 with the mechanism's HMAC over the UTF-8 password.</summary>
    public static byte[] SaltedPassword(ScramMechanism m, string password, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, Algorithm(m), HashLength(m));

    public static byte[] Hmac(ScramMechanism m, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) =>
        m == ScramMechanism.ScramSha512 ? HMACSHA512.HashData(key, data) : HMACSHA256.HashData(key, data);

    public static byte[] Hash(ScramMechanism m, ReadOnlySpan<byte> data) =>
        m == ScramMechanism.ScramSha512 ? SHA512.HashData(data) : SHA256.HashData(data);

    public static byte[] ClientKey(ScramMechanism m, ReadOnlySpan<byte> saltedPassword) => Hmac(m, saltedPassword, "Client Key"u8);

    /// <summary>StoredKey = H(ClientKey): what the server keeps to check a proof.</summary>
    public static byte[] StoredKey(ScramMechanism m, ReadOnlySpan<byte> saltedPassword) => Hash(m, ClientKey(m, saltedPassword));

    /// <summary>ServerKey = HMAC(SaltedPassword, "Server Key"): what the server keeps to sign its final message.</summary>
    public static byte[] ServerKey(ScramMechanism m, ReadOnlySpan<byte> saltedPassword) => Hmac(m, saltedPassword, "Server Key"u8);

    /// <summary>ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).</summary>
    public static byte[] ClientProof(ScramMechanism m, ReadOnlySpan<byte> saltedPassword, string authMessage)
    {
        var clientKey = ClientKey(m, saltedPassword);
        var signature = Hmac(m, Hash(m, clientKey), Encoding.UTF8.GetBytes(authMessage));
        for (int i = 0; i < clientKey.Length; i++) clientKey[i] ^= signature[i];
        return clientKey;
    }

    /// <summary>The server's check of a proof: H(HMAC(StoredKey, AuthMessage) XOR proof) == StoredKey, compared in
    /// constant time.</summary>
    public static bool VerifyProof(ScramMechanism m, ReadOnlySpan<byte> storedKey, string authMessage, ReadOnlySpan<byte> proof)
    {
        var signature = Hmac(m, storedKey, Encoding.UTF8.GetBytes(authMessage));
        if (proof.Length != signature.Length) return false;
        for (int i = 0; i < signature.Length; i++) signature[i] ^= proof[i];
        return CryptographicOperations.FixedTimeEquals(Hash(m, signature), storedKey);
    }

    /// <summary>ServerSignature = HMAC(ServerKey, AuthMessage), sent as <c>v=</c> in the server's final message.</summary>
    public static byte[] ServerSignature(ScramMechanism m, ReadOnlySpan<byte> serverKey, string authMessage) =>
        Hmac(m, serverKey, Encoding.UTF8.GetBytes(authMessage));

    /// <summary>A user name as a saslname: '=' as =3D and ',' as =2C.</summary>
    public static string EscapeName(string name) => name.Replace("=", "=3D").Replace(",", "=2C");

    /// <summary>A saslname back to the user name; null when an '=' starts anything but =3D or =2C.</summary>
    public static string? UnescapeName(string saslName)
    {
        if (!saslName.Contains('=')) return saslName;
        var sb = new StringBuilder(saslName.Length);
        for (int i = 0; i < saslName.Length; i++)
        {
            if (saslName[i] != '=') { sb.Append(saslName[i]); continue; }
            if (i + 2 >= saslName.Length) return null;
            var code = saslName.AsSpan(i + 1, 2);
            if (code.SequenceEqual("3D")) sb.Append('=');
            else if (code.SequenceEqual("2C")) sb.Append(',');
            else return null;
            i += 2;
        }
        return sb.ToString();
    }

    /// <summary>A fresh nonce: printable characters without ','.</summary>
    public static string Nonce()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return RandomNumberGenerator.GetString(alphabet, 28);
    }
}

/// <summary>The client side of one SCRAM exchange (our CLI's client, and the tests that drive the server byte by
/// byte): <see cref="First"/>, then <see cref="Final"/> for the server's first message, then
/// <see cref="VerifyServerFinal"/>.</summary>
public sealed class ScramClient(ScramMechanism mechanism, string user, string password, string? nonce = null)
{
    private readonly string _nonce = nonce ?? Scram.Nonce();
    private string? _authMessage;
    private byte[]? _saltedPassword;

    public string ClientFirstBare => $"n={Scram.EscapeName(user)},r={_nonce}";

    public byte[] First() => Encoding.UTF8.GetBytes("n,," + ClientFirstBare);

    /// <summary>The client's final message for the server's first (<c>r=..,s=..,i=..</c>); throws FormatException when
    /// that message is malformed, does not extend our nonce or asks for fewer than 4096 iterations.</summary>
    public byte[] Final(ReadOnlySpan<byte> serverFirst)
    {
        string text = Encoding.UTF8.GetString(serverFirst);
        var fields = text.Split(',');
        if (fields.Length < 3 || !fields[0].StartsWith("r=", StringComparison.Ordinal) || !fields[1].StartsWith("s=", StringComparison.Ordinal)
            || !fields[2].StartsWith("i=", StringComparison.Ordinal))
            throw new FormatException($"invalid SCRAM server first message: {text}");
        string fullNonce = fields[0][2..];
        if (!fullNonce.StartsWith(_nonce, StringComparison.Ordinal) || fullNonce.Length == _nonce.Length)
            throw new FormatException("the server's nonce does not extend the client's");
        byte[] salt = Convert.FromBase64String(fields[1][2..]);
        if (!int.TryParse(fields[2][2..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int iterations)
            || iterations < Scram.MinIterations || iterations > Scram.MaxClientIterations)
            throw new FormatException($"the server asks for {fields[2][2..]} iterations ({Scram.MinIterations} to {Scram.MaxClientIterations} expected)");
        _saltedPassword = Scram.SaltedPassword(mechanism, password, salt, iterations);
        string withoutProof = $"c=biws,r={fullNonce}";
        _authMessage = ClientFirstBare + "," + text + "," + withoutProof;
        var proof = Scram.ClientProof(mechanism, _saltedPassword, _authMessage);
        return Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof));
    }

    /// <summary>True when the server's final message (<c>v=...</c>) proves it knows the password's keys.</summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal)
    {
        if (_saltedPassword is null || _authMessage is null) return false;
        string text = Encoding.UTF8.GetString(serverFinal);
        if (!text.StartsWith("v=", StringComparison.Ordinal)) return false;
        byte[] given;
        try { given = Convert.FromBase64String(text[2..].Split(',')[0]); }
        catch (FormatException) { return false; }
        var expected = Scram.ServerSignature(mechanism, Scram.ServerKey(mechanism, _saltedPassword), _authMessage);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
