// The one page of the recipe. Next serves it; the hub shares the server at /parley.
export default function Home() {
  return (
    <main>
      <h1>Parley on Next.js</h1>
      <p>
        The hub listens at <code>/parley</code> on this server; connect with
        <code>
          {' '}
          createClient({'{'} url: 'ws://…/parley' {'}'})
        </code>
        .
      </p>
    </main>
  );
}
