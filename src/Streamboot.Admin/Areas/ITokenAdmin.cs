using Streamboot.Admin.Access;

namespace Streamboot.Admin.Areas;

/// <summary>The admin API's tokens: <see cref="AccessAdmin"/>, or the API's <c>/tokens</c> (admin scope only).</summary>
public interface ITokenAdmin
{
    /// <summary>Makes a token of scope read or admin; its secret is in the answer, and nowhere else.</summary>
    Task<AdminResult<NewToken>> CreateTokenAsync(string name, string scope, CancellationToken cancellationToken = default);

    Task<AdminResult<IReadOnlyList<TokenView>>> ListTokensAsync(CancellationToken cancellationToken = default);

    Task<AdminResult<TokenView>> RevokeTokenAsync(string name, CancellationToken cancellationToken = default);
}
