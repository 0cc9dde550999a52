import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App.tsx'
import { live } from './lib/live.ts'
import { wallet } from './lib/wallet.ts'
import './styles.css'

void live.start()
void wallet.load()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
