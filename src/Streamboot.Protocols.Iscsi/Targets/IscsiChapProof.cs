using Streamboot.Protocols.Iscsi.Login;

namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>
/// An initiator's CHAP answer (RFC 7143 12.1.3): its name (CHAP_N) and
/// whether a candidate secret produces its response to the challenge this
/// target sent. Holds no secret; the provider brings the candidates.
/// </summary>
public sealed class IscsiChapProof
{
    private readonly byte _identifier;
    private readonly byte[] _challenge;
    private readonly byte[] _response;

    internal IscsiChapProof(string name, byte identifier, byte[] challenge, byte[] response)
    {
        Name = name;
        _identifier = identifier;
        _challenge = challenge;
        _response = response;
    }

    /// <summary>CHAP_N: the name the initiator authenticates as (client text).</summary>
    public string Name { get; }

    /// <summary>Whether <paramref name="secret"/> is the initiator's secret; constant time in where a wrong answer differs.</summary>
    public bool Proves(string secret) => Chap.Proves(_identifier, secret, _challenge, _response);
}
